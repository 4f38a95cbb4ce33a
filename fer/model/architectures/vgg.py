"""The default network: a VGG-style CNN with batch norm, sized for CPU training.

Four stages of two 3×3 convs (width, 2×, 4×, 8× channels), each followed by 2×2 max-pooling,
then global average pooling, dropout and one linear layer. Global pooling keeps the
parameter count small (about 3 M at width 48) and lets the net take any input size.
"""

from torch import nn


def conv_bn_relu(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def pooled_classifier(channels: int, num_classes: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, num_classes))


class VGGBN(nn.Module):
    def __init__(self, num_classes: int, input_size: int, width: int = 48, dropout: float = 0.3):
        super().__init__()
        del input_size  # global pooling makes the network size-agnostic
        layers, cin = [], 1
        for stage in range(4):
            cout = width * 2 ** stage
            layers += conv_bn_relu(cin, cout) + conv_bn_relu(cout, cout)
            layers += self.stage_end(stage, cout) + [nn.MaxPool2d(2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = pooled_classifier(cin, num_classes, dropout)

    def stage_end(self, stage: int, channels: int) -> list[nn.Module]:
        """Layers after the convs of stage 0 to 3, before its pooling: none here; variants add some."""
        return []

    def forward(self, x):
        return self.classifier(self.features(x))
