"""The networks, one per module; `build` makes one from its name and plain settings (several, averaged, with
`members` > 1)."""

from torch import nn

from fer.model.architectures import averaged, resnet, seed, vgg, vgg_se

ARCHITECTURES = {"seed": seed.SeedCNN, "vgg": vgg.VGGBN, "vgg_se": vgg_se.VGGSE, "resnet": resnet.ResNet}


def build(arch: str, num_classes: int, input_size: int, width: int, dropout: float, members: int = 1) -> nn.Module:
    def one() -> nn.Module:
        return ARCHITECTURES[arch](num_classes=num_classes, input_size=input_size, width=width, dropout=dropout)

    return one() if members == 1 else averaged.Averaged([one() for _ in range(members)])
