"""The network of the student report the project started from, kept as the baseline:
three conv layers, then fully connected 256→128→64→classes, no dropout, no batch norm."""

from torch import nn


class SeedCNN(nn.Module):
    def __init__(self, num_classes: int, input_size: int, width: int = 32, dropout: float = 0.0):
        super().__init__()
        del dropout  # the original network has none; the argument keeps one signature for all archs
        channels = [1, width, width * 2, width * 4]
        layers = []
        for cin, cout in zip(channels, channels[1:]):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)
        side = input_size // 8
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels[-1] * side * side, 256), nn.ReLU(inplace=True),
            nn.Linear(256, 128), nn.ReLU(inplace=True),
            nn.Linear(128, 64), nn.ReLU(inplace=True),
            nn.Linear(64, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
