"""MobileNetV2 architecture descriptions shared by the numpy builder and the training script."""

from __future__ import annotations

from dataclasses import dataclass

from pe_models.errors import ConfigError

__all__ = ["IMAGENET_MOBILENETV2", "TINYMNV2", "BlockSetting", "MobileNetV2Config"]


@dataclass(frozen=True, kw_only=True)
class BlockSetting:
    """One row of the MobileNetV2 block table (Sandler et al. 2018, table 2).

    Attributes
    ----------
    expansion : int
        Expansion factor ``t`` of the inverted residual block.
    out_channels : int
        Output channels ``c`` of every block in the row.
    repeats : int
        Number of blocks ``n`` in the row.
    stride : int
        Stride ``s`` of the first block in the row; the others use stride 1.
    """

    expansion: int
    out_channels: int
    repeats: int
    stride: int

    def __post_init__(self) -> None:
        for field in ("expansion", "out_channels", "repeats"):
            if getattr(self, field) < 1:
                raise ConfigError(f"{field}: {getattr(self, field)} must be >= 1")
        if self.stride not in (1, 2):
            raise ConfigError(f"stride: {self.stride} is not allowed; allowed: 1, 2")


@dataclass(frozen=True, kw_only=True)
class MobileNetV2Config:
    """A MobileNetV2-style network in torchvision's module layout.

    The stem is ``features.0`` (3x3 convolution, batch norm, ReLU6), the inverted
    residual blocks are ``features.1`` ... ``features.B``, the last 1x1 convolution is
    ``features.B+1`` and the classifier is ``classifier.1`` (``classifier.0`` is dropout).
    """

    name: str
    in_channels: int
    input_size: int
    stem_channels: int
    stem_stride: int
    blocks: tuple[BlockSetting, ...]
    last_channels: int
    num_classes: int

    def __post_init__(self) -> None:
        for field in ("in_channels", "input_size", "stem_channels", "last_channels", "num_classes"):
            if getattr(self, field) < 1:
                raise ConfigError(f"{field}: {getattr(self, field)} must be >= 1")
        if self.stem_stride not in (1, 2):
            raise ConfigError(f"stem_stride: {self.stem_stride} is not allowed; allowed: 1, 2")
        if not self.blocks:
            raise ConfigError("blocks: at least one block setting is required")

    def block_list(self) -> list[tuple[int, int, int, int]]:
        """Every inverted residual block as ``(in_channels, out_channels, stride, expansion)``."""
        result = []
        channels = self.stem_channels
        for setting in self.blocks:
            for index in range(setting.repeats):
                stride = setting.stride if index == 0 else 1
                result.append((channels, setting.out_channels, stride, setting.expansion))
                channels = setting.out_channels
        return result


IMAGENET_MOBILENETV2 = MobileNetV2Config(
    name="mobilenetv2",
    in_channels=3,
    input_size=224,
    stem_channels=32,
    stem_stride=2,
    blocks=(
        BlockSetting(expansion=1, out_channels=16, repeats=1, stride=1),
        BlockSetting(expansion=6, out_channels=24, repeats=2, stride=2),
        BlockSetting(expansion=6, out_channels=32, repeats=3, stride=2),
        BlockSetting(expansion=6, out_channels=64, repeats=4, stride=2),
        BlockSetting(expansion=6, out_channels=96, repeats=3, stride=1),
        BlockSetting(expansion=6, out_channels=160, repeats=3, stride=2),
        BlockSetting(expansion=6, out_channels=320, repeats=1, stride=1),
    ),
    last_channels=1280,
    num_classes=1000,
)

TINYMNV2 = MobileNetV2Config(
    name="tinymnv2",
    in_channels=1,
    input_size=28,
    stem_channels=16,
    stem_stride=1,
    blocks=(
        BlockSetting(expansion=1, out_channels=16, repeats=1, stride=2),
        BlockSetting(expansion=4, out_channels=24, repeats=2, stride=2),
        BlockSetting(expansion=4, out_channels=32, repeats=2, stride=2),
    ),
    last_channels=128,
    num_classes=10,
)
