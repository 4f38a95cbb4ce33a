"""The networks, one per module; `build` makes one from its name and plain settings."""

from torch import nn

from fer.model.architectures import resnet, seed, vgg, vgg_se

ARCHITECTURES = {"seed": seed.SeedCNN, "vgg": vgg.VGGBN, "vgg_se": vgg_se.VGGSE, "resnet": resnet.ResNet}


def build(arch: str, num_classes: int, input_size: int, width: int, dropout: float) -> nn.Module:
    return ARCHITECTURES[arch](num_classes=num_classes, input_size=input_size, width=width, dropout=dropout)
