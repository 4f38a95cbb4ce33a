"""The default VGG network with squeeze-and-excitation (Hu et al. 2018) after the convs of its last
two stages: a gate per channel, computed from the whole feature map, lets a stage weigh its channels
per face. It adds about 2 % parameters. Gating the first two stages' large maps (40×40, 20×20) too
made a training epoch about 20 % slower (80–88 s instead of 62–72 on the 2-core bf16 machine)."""

from torch import nn

from fer.model.architectures.vgg import VGGBN


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        hidden = max(4, channels // reduction)
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(hidden, channels, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.gate(x)


class VGGSE(VGGBN):
    def stage_end(self, stage: int, channels: int) -> list[nn.Module]:
        return [SqueezeExcite(channels)] if stage >= 2 else []
