"""Readers of files a user did not write: nothing outside the file's folder is read, no
foreign decoder runs (the audit in docs/workloads.md, "Untrusted files")."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from pe_models.errors import ConfigError
from tests.packages import require
from workloads.data import load_image_folder

EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 4 3\n0 0 moveto 4 3 lineto stroke\nshowpage\n%%EOF\n"


def _images(folder, labels_text: str):
    labels = folder / "labels.txt"
    labels.write_text(labels_text)
    return load_image_folder(folder, labels, preprocess=lambda image: image.astype(np.float32), num_classes=10)


def test_pillow_would_hand_the_postscript_file_to_its_eps_decoder(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(EPS)
    with Image.open(path) as picture:
        assert picture.format == "EPS"


def test_postscript_named_like_a_photo_never_reaches_ghostscript(tmp_path, monkeypatch):
    from PIL import EpsImagePlugin

    calls = []

    def ghostscript(*arguments, **options):
        calls.append(arguments)
        raise OSError("Ghostscript would run here")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    (tmp_path / "photo.png").write_bytes(EPS)
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(tmp_path / 'photo.png'))}: not a readable image \(\w+\)$"):
        _images(tmp_path, "photo.png 3\n")
    assert calls == []


@pytest.mark.parametrize("name", ["../outside.png", "/etc/passwd", "sub/../../outside.png"])
def test_a_label_line_naming_a_file_outside_the_folder_is_refused(tmp_path, name):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (4, 3)).save(tmp_path / "outside.png")
    Image.new("RGB", (4, 3)).save(folder / "inside.png")
    with pytest.raises(
        ConfigError,
        match=rf"^{re.escape(str(folder / 'labels.txt'))}:2: image {re.escape(repr(name))} is outside "
        rf"{re.escape(str(folder))}; give a path inside it$",
    ):
        _images(folder, f"inside.png 1\n{name} 3\n")


def test_an_image_in_a_subfolder_is_read(tmp_path):
    (tmp_path / "n01440764").mkdir()
    Image.new("RGB", (4, 3), (10, 20, 30)).save(tmp_path / "n01440764" / "fish.png")
    Image.new("RGB", (4, 3)).save(tmp_path / "other.png")
    images = _images(tmp_path, "n01440764/fish.png 0\n")
    assert images.images.shape == (1, 3, 4, 3)
    assert images.images[0, 0, 0].tolist() == [10.0, 20.0, 30.0]


class TestOnnxExternalData:
    onnx = require("onnx")

    @staticmethod
    def _save(folder, location: str = "weights.bin"):
        from tests.workloads.test_onnx_import import _small_model

        onnx = TestOnnxExternalData.onnx
        model = _small_model(np.random.default_rng(np.random.SeedSequence(30)))
        path = folder / "model.onnx"
        onnx.save_model(
            onnx.ModelProto.FromString(model.SerializeToString()),
            str(path),
            save_as_external_data=True,
            location="weights.bin",
            size_threshold=0,
        )
        if location != "weights.bin":
            stored = onnx.load(str(path), load_external_data=False)
            for tensor in stored.graph.initializer:
                for entry in tensor.external_data:
                    if entry.key == "location":
                        entry.value = location
            onnx.save_model(stored, str(path))
        return path, model

    def test_weights_beside_the_model_are_read(self, tmp_path):
        from workloads.models.onnx_import import graph_from_onnx, load_onnx

        path, model = self._save(tmp_path)
        assert (tmp_path / "weights.bin").stat().st_size > 0
        read = load_onnx(path)
        inline = graph_from_onnx(model)
        assert [node.name for node in read.nodes] == [node.name for node in inline.nodes]
        for mine, theirs in zip(read.nodes, inline.nodes, strict=True):
            assert repr(mine.op) == repr(theirs.op)

    @pytest.mark.parametrize("location", ["../outside.bin", "/etc/passwd", "sub/../../outside.bin"])
    def test_a_location_outside_the_folder_is_refused(self, tmp_path, location):
        from workloads.models.onnx_import import load_onnx

        folder = tmp_path / "model"
        folder.mkdir()
        path, _ = self._save(folder, location)
        (tmp_path / "outside.bin").write_bytes((folder / "weights.bin").read_bytes())
        with pytest.raises(
            ConfigError,
            match=rf"^{re.escape(str(path))}: initializer '\w+': external data .* is not a file name inside",
        ):
            load_onnx(path)

    def test_a_symbolic_link_leading_outside_the_folder_is_refused(self, tmp_path):
        from workloads.models.onnx_import import load_onnx

        folder = tmp_path / "model"
        folder.mkdir()
        path, _ = self._save(folder, "link.bin")
        (folder / "weights.bin").rename(tmp_path / "outside.bin")
        os.symlink(tmp_path / "outside.bin", folder / "link.bin")
        with pytest.raises(
            ConfigError,
            match=rf"^{re.escape(str(path))}: initializer '\w+': external data 'link.bin' is not a file inside",
        ):
            load_onnx(path)

    @staticmethod
    def _fuzz(folder, examples: int) -> None:
        from tests.workloads.test_onnx_import import _small_model
        from workloads.models.onnx_import import load_onnx

        seed = _small_model(np.random.default_rng(np.random.SeedSequence(30))).SerializeToString()
        path = folder / "damaged.onnx"

        @settings(max_examples=examples, deadline=None)
        @given(edits=st.lists(st.tuples(st.integers(0, len(seed) - 1), st.integers(0, 255)), min_size=1, max_size=6))
        def run(edits: list[tuple[int, int]]) -> None:
            data = bytearray(seed)
            for position, value in edits:
                data[position] = value
            path.write_bytes(bytes(data))
            try:
                load_onnx(path)
            except ConfigError as error:
                assert str(error).startswith(f"{path}: ") and "\n" not in str(error)

        run()

    def test_any_damaged_model_gives_a_graph_or_one_config_error_line(self, tmp_path):
        self._fuzz(tmp_path, 30)

    @pytest.mark.slow
    def test_any_damaged_model_gives_a_graph_or_one_config_error_line_thoroughly(self, tmp_path):
        self._fuzz(tmp_path, 600)
