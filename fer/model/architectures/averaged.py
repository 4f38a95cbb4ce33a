"""Several networks of one architecture as one: the log of their mean softmax.

A softmax of that output is the mean of the members' probabilities, so everything downstream (test-time
augmentation, the prior correction, ONNX, the browser) treats the average like any single network.
"""

import math

import torch
from torch import nn


class Averaged(nn.Module):
    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x):
        log_probabilities = torch.stack([member(x).float().log_softmax(-1) for member in self.members])
        return torch.logsumexp(log_probabilities, 0) - math.log(len(self.members))
