"""Topology files: SCALE-Sim convolution and GEMM CSV, the vscale CSV, built-ins, errors."""

from __future__ import annotations

import pytest

from pe_models.errors import ConfigError
from sim.layers import ConvLayer, GemmLayer
from workloads.topologies import (
    BUILTIN_TOPOLOGIES,
    format_topology,
    load_topology,
    parse_topology,
    read_topology_file,
)

SCALESIM_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_scalesim_convolution_rows_with_spaces_and_trailing_commas(tmp_path):
    path = _write(tmp_path, "net.csv", SCALESIM_HEADER + "\nConv1,  224, 224,    3, 3,      3,      32,     2,\n")
    topology = read_topology_file(path)
    assert topology.format == "scalesim-conv"
    assert topology.layers == (
        ConvLayer(name="Conv1", ifmap_h=224, ifmap_w=224, filter_h=3, filter_w=3, channels=3, num_filters=32, stride=2),
    )


def test_single_filter_rows_are_read_as_depthwise_by_default(tmp_path):
    path = _write(tmp_path, "net.csv", SCALESIM_HEADER + "Conv2, 112, 112, 3, 3, 32, 1, 1,\n")
    (layer,) = read_topology_file(path).layers
    assert (layer.channels, layer.num_filters, layer.groups) == (32, 32, 32)


def test_single_filter_pointwise_row_stays_a_dense_convolution(tmp_path):
    path = _write(tmp_path, "net.csv", SCALESIM_HEADER + "Head, 7, 7, 1, 1, 32, 1, 1,\n")
    (layer,) = read_topology_file(path).layers
    assert (layer.num_filters, layer.groups) == (1, 1)


def test_scalesim_compat_reads_rows_literally(tmp_path):
    path = _write(tmp_path, "net.csv", SCALESIM_HEADER + "Conv2, 112, 112, 3, 3, 32, 1, 1,\n")
    (layer,) = read_topology_file(path, scalesim_compat=True).layers
    assert (layer.channels, layer.num_filters, layer.groups) == (32, 1, 1)


def test_dp_rows_are_depthwise_with_a_channel_multiplier_by_default(tmp_path):
    path = _write(tmp_path, "net.csv", SCALESIM_HEADER + "DP1, 9, 9, 3, 3, 4, 2, 1,\n")
    (layer,) = read_topology_file(path).layers
    assert (layer.channels, layer.num_filters, layer.groups) == (4, 8, 4)


def test_optional_column_stride_equal_to_row_stride_is_accepted(tmp_path):
    path = _write(tmp_path, "net.csv", SCALESIM_HEADER + "Conv1, 9, 9, 3, 3, 4, 2, 2, 2,\n")
    assert read_topology_file(path).layers[0].stride == 2


def test_scalesim_gemm_rows(tmp_path):
    path = _write(tmp_path, "t.csv", "Layer,M,N,K,\nQK,128,64,128,\nFF, 128, 2048, 512,\n")
    topology = read_topology_file(path)
    assert topology.format == "scalesim-gemm"
    assert topology.layers == (GemmLayer(name="QK", m=128, n=64, k=128), GemmLayer(name="FF", m=128, n=2048, k=512))


def test_vscale_format_round_trips_padding_groups_and_gemms():
    layers = (
        ConvLayer(
            name="stem", ifmap_h=32, ifmap_w=30, filter_h=3, filter_w=3, channels=3, num_filters=16, stride=2, padding=1
        ),
        ConvLayer(
            name="dw", ifmap_h=16, ifmap_w=15, filter_h=3, filter_w=3, channels=16, num_filters=16, padding=1, groups=16
        ),
        GemmLayer(name="fc", m=1, n=10, k=16),
    )
    text = "# a comment before the header\n" + format_topology(layers)
    topology = parse_topology(text, label="net.csv", name="net", source="net.csv")
    assert (topology.format, topology.layers) == ("vscale", layers)


def test_vscale_rows_may_omit_trailing_empty_fields():
    text = "name,kind,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,padding,groups,m,n,k\n"
    text += "c,conv,8,8,3,3,2,4,1,1,2\n# comment\n"
    (layer,) = parse_topology(text, label="x.csv", name="x", source="x.csv").layers
    assert (layer.padding, layer.groups) == (1, 2)


@pytest.mark.parametrize("name", BUILTIN_TOPOLOGIES)
def test_builtins_load_by_name(name):
    topology = load_topology(name)
    assert (topology.name, topology.source, topology.format) == (name, f"builtin:{name}", "vscale")


def test_mobilenetv2_has_52_convolutions_17_of_them_depthwise_and_a_classifier():
    layers = load_topology("mobilenetv2").layers
    convolutions = [layer for layer in layers if isinstance(layer, ConvLayer)]
    assert len(convolutions) == 52
    assert sum(layer.is_depthwise for layer in convolutions) == 17
    assert layers[-1] == GemmLayer(name="classifier", m=1, n=1000, k=1280)
    assert layers[0].gemm().m == 112 * 112 and layers[-2].output_hw() == (7, 7)


def _weights(layer) -> int:
    if isinstance(layer, ConvLayer):
        return layer.num_filters * (layer.channels // layer.groups) * layer.filter_h * layer.filter_w
    return layer.n * layer.k


@pytest.mark.parametrize(
    ("name", "torchvision_params"),
    # num_params of torchvision's mobilenet_v2, resnet18 and resnet50 ImageNet weights.
    [("mobilenetv2", 3_504_872), ("resnet18", 11_689_512), ("resnet50", 25_557_032)],
)
def test_builtin_parameter_count_equals_torchvision(name, torchvision_params):
    layers = load_topology(name).layers
    # Every convolution is followed by a batch norm (scale and shift per output channel);
    # the classifier has 1000 biases.
    batch_norm = sum(2 * layer.num_filters for layer in layers if isinstance(layer, ConvLayer))
    assert sum(_weights(layer) for layer in layers) + batch_norm + 1000 == torchvision_params


@pytest.mark.parametrize(
    ("name", "published_macs", "tolerance"),
    [
        ("mobilenetv2", 300e6, 0.01),  # Sandler et al. 2018, Table 4: 300M multiply-adds
        ("resnet18", 1.8e9, 0.02),  # He et al. 2016, Table 1: 1.8 x 10^9 FLOPs (multiply-adds)
        ("resnet50", 3.8e9, 0.02),  # He et al. 2016, Table 1: 3.8 x 10^9
    ],
)
def test_builtin_mac_count_matches_the_paper(name, published_macs, tolerance):
    macs = sum(layer.macs for layer in load_topology(name).layers)
    assert macs == pytest.approx(published_macs, rel=tolerance)


def test_resnet50_downsamples_in_the_first_1x1_as_in_he_et_al():
    layers = {layer.name: layer for layer in load_topology("resnet50").layers}
    first = layers["layer2.0.conv1"]
    assert (first.filter_h, first.stride, first.ifmap_h) == (1, 2, 56)
    assert layers["layer2.0.conv2"].stride == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            SCALESIM_HEADER + "Conv1, 224, 224, 3, 3, 3, 32, 2,\nConv2, 112, 112, 3, 3, 32, 1, x,\n",
            r"^mobilenet\.csv:3: Strides: expected a positive integer, got 'x'$",
        ),
        (
            SCALESIM_HEADER + "Conv1, 224, 224, 3, 3, 0, 32, 2,\n",
            r"^mobilenet\.csv:2: Channels: expected a positive integer, got '0'$",
        ),
        (
            SCALESIM_HEADER + "Conv1, 224, 224, 3, 3, 3, 32,\n",
            r"^mobilenet\.csv:2: Strides: missing; expected 8 values per row \(Layer name, IFMAP Height, "
            r"IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides\)$",
        ),
        (
            SCALESIM_HEADER + "Conv1, 7, 7, 1, 1, 3, 32, 9,\n",
            r"^mobilenet\.csv:2: Strides: expected at most the padded input size 7, got 9$",
        ),
        (
            SCALESIM_HEADER + "Conv1, 7, 7, 9, 3, 3, 32, 1,\n",
            r"^mobilenet\.csv:2: Filter Height: expected at most the padded input height 7, got 9$",
        ),
        (
            SCALESIM_HEADER + "Conv1, 7, 7, 3, 3, 3, 32, 2, 1,\n",
            r"^mobilenet\.csv:2: Strides: row stride 2 and column stride 1 differ; only equal strides "
            r"are supported$",
        ),
        (
            SCALESIM_HEADER + " , 7, 7, 3, 3, 3, 32, 2,\n",
            r"^mobilenet\.csv:2: Layer name: expected a non-empty layer name$",
        ),
        (
            SCALESIM_HEADER + "Conv1, 7, 7, 3, 3, 3, 32, 2, 2, 5,\n",
            r"^mobilenet\.csv:2: expected at most 9 values per row \(Layer name, IFMAP Height, IFMAP Width, "
            r"Filter Height, Filter Width, Channels, Num Filter, Strides, Column stride\), got 10$",
        ),
        ("Layer,M,N,K,\nFF,128,2048,-4,\n", r"^mobilenet\.csv:2: K: expected a positive integer, got '-4'$"),
        (SCALESIM_HEADER + "\n\n", r"^mobilenet\.csv: no layers after the header$"),
        ("\n  \n", r"^mobilenet\.csv: empty file; expected a topology CSV header$"),
        (
            "layer,h,w\nConv1,1,1\n",
            r"^mobilenet\.csv:1: header: expected 'Layer name, IFMAP Height, .*, got 'layer,h,w'$",
        ),
    ],
    ids=[
        "bad-stride",
        "zero-channels",
        "missing-column",
        "stride-larger-than-input",
        "filter-larger-than-input",
        "unequal-strides",
        "empty-name",
        "too-many-values",
        "negative-gemm-k",
        "header-only",
        "empty-file",
        "unknown-header",
    ],
)
def test_malformed_scalesim_file_gives_one_line_naming_file_line_and_column(tmp_path, text, message):
    path = _write(tmp_path, "mobilenet.csv", text)
    with pytest.raises(ConfigError, match=message):
        read_topology_file(path)


VSCALE_HEADER = "name,kind,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,padding,groups,m,n,k\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("c,pool,8,8,3,3,4,4,1,1,1,,,", r"^net\.csv:2: kind: expected conv or gemm, got 'pool'$"),
        ("c,conv,8,8,3,3,4,4,1,1,1,5,,", r"^net\.csv:2: m: expected empty for kind conv, got '5'$"),
        ("g,gemm,,,,,,,,,,4,5,", r"^net\.csv:2: k: expected a positive integer, got ''$"),
        ("c,conv,8,8,3,3,4,4,1,-1,1,,,", r"^net\.csv:2: padding: expected a non-negative integer, got '-1'$"),
        (
            "c,conv,8,8,3,3,6,4,1,1,4,,,",
            r"^net\.csv:2: groups: expected a divisor of both channels \(6\) and num_filters \(4\), got 4$",
        ),
    ],
)
def test_malformed_vscale_file_names_line_and_column(tmp_path, row, message):
    path = _write(tmp_path, "net.csv", VSCALE_HEADER + row + "\n")
    with pytest.raises(ConfigError, match=message):
        read_topology_file(path)


def test_unknown_topology_name():
    with pytest.raises(
        ConfigError,
        match=r"^topology: 'mobilenet_v3' is neither a file nor a built-in topology; allowed: a CSV file or "
        r"one of mobilenetv2, resnet18, resnet50$",
    ):
        load_topology("mobilenet_v3")


def test_binary_file_is_rejected(tmp_path):
    path = tmp_path / "net.csv"
    path.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ConfigError, match=r"^net\.csv: not a UTF-8 text file$"):
        read_topology_file(path)


def test_an_existing_file_named_like_a_builtin_takes_precedence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "resnet18", "Layer,M,N,K,\nG,2,3,4,\n")
    assert load_topology("resnet18").layers == (GemmLayer(name="G", m=2, n=3, k=4),)
