"""Network topologies: reading SCALE-Sim and vscale topology CSV files, and built-ins.

Three formats are read, told apart by their header line:

SCALE-Sim convolution CSV
    ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
    Num Filter, Strides,`` -- spaces and trailing commas allowed, an optional ninth value
    (column stride) must equal the row stride. No padding and no groups are recorded.
SCALE-Sim GEMM CSV
    ``Layer, M, N, K,``.
vscale CSV
    ``name,kind,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,padding,
    groups,m,n,k``; ``kind`` is ``conv`` (the convolution fields filled, m, n, k empty)
    or ``gemm`` (only m, n, k filled). Lines starting with ``#`` are comments.

SCALE-Sim's convolution files encode a depthwise layer as ``Num Filter = 1`` over all
``Channels`` (its MobileNet file) or by ``DP`` in the layer name (``topology_utils``
expands such a row into one layer per channel). By default these rows are read as what
they are, depthwise convolutions (``groups = channels``): a row with ``Num Filter = 1``,
``Channels > 1`` and a filter larger than 1 x 1 becomes ``num_filters = channels``, and a
``DP`` row becomes ``num_filters = channels * Num Filter``. With ``scalesim_compat=True``
rows are taken literally and ``DP`` rows are expanded per channel, exactly as SCALE-Sim
does, so that its cycle counts are reproduced.

Bad files raise :class:`ConfigError` with one line naming the file, line and column,
e.g. ``mobilenet.csv:3: Strides: expected a positive integer, got 'x'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pe_models.errors import ConfigError
from sim.layers import ConvLayer, GemmLayer, Layer, LayerShapeError

__all__ = [
    "BUILTIN_TOPOLOGIES",
    "TOPOLOGY_FORMATS",
    "VSCALE_COLUMNS",
    "Topology",
    "format_topology",
    "load_topology",
    "parse_topology",
    "read_text_file",
    "read_topology_file",
]

BUILTIN_TOPOLOGIES: tuple[str, ...] = ("mobilenetv2", "resnet18", "resnet50")
"""Names accepted by :func:`load_topology` for the files shipped in the package."""

VSCALE_COLUMNS: tuple[str, ...] = (
    "name",
    "kind",
    "ifmap_h",
    "ifmap_w",
    "filter_h",
    "filter_w",
    "channels",
    "num_filters",
    "stride",
    "padding",
    "groups",
    "m",
    "n",
    "k",
)
"""Header of the vscale topology CSV format."""

_CONV_FIELDS = (
    "ifmap_h",
    "ifmap_w",
    "filter_h",
    "filter_w",
    "channels",
    "num_filters",
    "stride",
    "padding",
    "groups",
)
_GEMM_FIELDS = ("m", "n", "k")

_SCALESIM_CONV_COLUMNS = (
    "Layer name",
    "IFMAP Height",
    "IFMAP Width",
    "Filter Height",
    "Filter Width",
    "Channels",
    "Num Filter",
    "Strides",
)
_SCALESIM_CONV_FIELD_COLUMN = {
    "name": "Layer name",
    "ifmap_h": "IFMAP Height",
    "ifmap_w": "IFMAP Width",
    "filter_h": "Filter Height",
    "filter_w": "Filter Width",
    "channels": "Channels",
    "num_filters": "Num Filter",
    "stride": "Strides",
    "groups": "Channels",
}
_SCALESIM_GEMM_COLUMNS = ("Layer", "M", "N", "K")
_SCALESIM_GEMM_FIELD_COLUMN = {"name": "Layer", "m": "M", "n": "N", "k": "K"}

TOPOLOGY_FORMATS: tuple[str, ...] = ("scalesim-conv", "scalesim-gemm", "vscale")
"""Values of `Topology.format`."""


@dataclass(frozen=True, kw_only=True)
class Topology:
    """A network as an ordered list of layers.

    Attributes
    ----------
    name : str
        File stem or built-in name.
    layers : tuple of Layer
        The layers in execution order.
    source : str
        The file read, or ``builtin:<name>``.
    format : str
        ``"scalesim-conv"``, ``"scalesim-gemm"`` or ``"vscale"``.
    """

    name: str
    layers: tuple[Layer, ...]
    source: str
    format: str


def _cells(line: str) -> list[str]:
    cells = [cell.strip() for cell in line.split(",")]
    while cells and cells[-1] == "":
        cells.pop()
    return cells


class _Row:
    """One data line of a topology file, with error reporting by column name."""

    def __init__(self, label: str, line_number: int, values: dict[str, str]) -> None:
        self.label = label
        self.line_number = line_number
        self.values = values

    def fail(self, column: str, detail: str) -> ConfigError:
        return ConfigError(f"{self.label}:{self.line_number}: {column}: {detail}")

    def positive(self, column: str, *, allow_zero: bool = False) -> int:
        text = self.values[column]
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < 0 or (value == 0 and not allow_zero):
            kind = "a non-negative integer" if allow_zero else "a positive integer"
            raise self.fail(column, f"expected {kind}, got {text!r}")
        return value

    def name(self, column: str) -> str:
        text = self.values[column]
        if not text:
            raise self.fail(column, "expected a non-empty layer name")
        return text


def _build(row: _Row, field_column: dict[str, str], factory, **fields) -> Layer:
    try:
        return factory(**fields)
    except LayerShapeError as error:
        raise row.fail(field_column.get(error.field, error.field), error.detail) from None


def _scalesim_conv_layers(row: _Row, *, scalesim_compat: bool) -> list[Layer]:
    name = row.name("Layer name")
    sizes = {
        field: row.positive(column)
        for field, column in _SCALESIM_CONV_FIELD_COLUMN.items()
        if field not in ("name", "groups")
    }
    if row.values["Column stride"]:
        column_stride = row.positive("Column stride")
        if column_stride != sizes["stride"]:
            raise row.fail(
                "Strides",
                f"row stride {sizes['stride']} and column stride {column_stride} differ; "
                "only equal strides are supported",
            )
    channels, filters = sizes["channels"], sizes["num_filters"]
    depthwise_by_name = "DP" in name
    if scalesim_compat:
        if depthwise_by_name:
            return [
                _build(
                    row,
                    _SCALESIM_CONV_FIELD_COLUMN,
                    ConvLayer,
                    name=f"{name}Channel_{channel}",
                    **{**sizes, "channels": 1},
                )
                for channel in range(channels)
            ]
        return [_build(row, _SCALESIM_CONV_FIELD_COLUMN, ConvLayer, name=name, **sizes)]
    single_filter_depthwise = filters == 1 and channels > 1 and sizes["filter_h"] * sizes["filter_w"] > 1
    if depthwise_by_name or single_filter_depthwise:
        sizes = {**sizes, "num_filters": channels * filters}
        return [_build(row, _SCALESIM_CONV_FIELD_COLUMN, ConvLayer, name=name, groups=channels, **sizes)]
    return [_build(row, _SCALESIM_CONV_FIELD_COLUMN, ConvLayer, name=name, **sizes)]


def _scalesim_gemm_layer(row: _Row) -> Layer:
    return _build(
        row,
        _SCALESIM_GEMM_FIELD_COLUMN,
        GemmLayer,
        name=row.name("Layer"),
        m=row.positive("M"),
        n=row.positive("N"),
        k=row.positive("K"),
    )


def _vscale_layer(row: _Row) -> Layer:
    name = row.name("name")
    kind = row.values["kind"]
    required: tuple[str, ...]
    empty: tuple[str, ...]
    if kind == "conv":
        required, empty = _CONV_FIELDS, _GEMM_FIELDS
    elif kind == "gemm":
        required, empty = _GEMM_FIELDS, _CONV_FIELDS
    else:
        raise row.fail("kind", f"expected conv or gemm, got {kind!r}")
    for column in empty:
        if row.values[column]:
            raise row.fail(column, f"expected empty for kind {kind}, got {row.values[column]!r}")
    fields = {column: row.positive(column, allow_zero=column == "padding") for column in required}
    factory = ConvLayer if kind == "conv" else GemmLayer
    return _build(row, {}, factory, name=name, **fields)


def _detect_format(header: list[str]) -> str | None:
    lowered = [cell.lower() for cell in header]
    if lowered == list(VSCALE_COLUMNS):
        return "vscale"
    if lowered == [column.lower() for column in _SCALESIM_GEMM_COLUMNS]:
        return "scalesim-gemm"
    if lowered and lowered[0] == "layer name" and len(lowered) >= len(_SCALESIM_CONV_COLUMNS):
        return "scalesim-conv"
    return None


def parse_topology(text: str, *, label: str, name: str, source: str, scalesim_compat: bool = False) -> Topology:
    """Parse the text of a topology file.

    Parameters
    ----------
    text : str
        File contents.
    label : str
        How the file is named in error messages (usually its file name).
    name, source : str
        Stored in the returned `Topology`.
    scalesim_compat : bool
        Read SCALE-Sim convolution rows literally (see the module docstring).

    Raises
    ------
    ConfigError
        One line naming `label`, the line number and the column.
    """
    lines = text.splitlines()
    header_index = next(
        (index for index, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")),
        None,
    )
    if header_index is None:
        raise ConfigError(f"{label}: empty file; expected a topology CSV header")
    header = _cells(lines[header_index])
    fmt = _detect_format(header)
    if fmt is None:
        raise ConfigError(
            f"{label}:{header_index + 1}: header: expected 'Layer name, IFMAP Height, IFMAP "
            "Width, Filter Height, Filter Width, Channels, Num Filter, Strides,' (SCALE-Sim), "
            f"'Layer, M, N, K,' (SCALE-Sim GEMM) or '{','.join(VSCALE_COLUMNS)}' (vscale), "
            f"got {lines[header_index].strip()!r}"
        )
    columns: tuple[str, ...] = {
        "vscale": VSCALE_COLUMNS,
        "scalesim-gemm": _SCALESIM_GEMM_COLUMNS,
        "scalesim-conv": (*_SCALESIM_CONV_COLUMNS, "Column stride"),
    }[fmt]
    required = {"vscale": 2, "scalesim-gemm": 4, "scalesim-conv": 8}[fmt]
    layers: list[Layer] = []
    for index in range(header_index + 1, len(lines)):
        line = lines[index]
        if not line.strip() or (fmt == "vscale" and line.lstrip().startswith("#")):
            continue
        cells = _cells(line)
        line_number = index + 1
        if len(cells) < required:
            raise ConfigError(
                f"{label}:{line_number}: {columns[len(cells)]}: missing; expected "
                f"{required} values per row ({', '.join(columns[:required])})"
            )
        if len(cells) > len(columns):
            raise ConfigError(
                f"{label}:{line_number}: expected at most {len(columns)} values per row "
                f"({', '.join(columns)}), got {len(cells)}"
            )
        cells += [""] * (len(columns) - len(cells))
        row = _Row(label, line_number, dict(zip(columns, cells, strict=True)))
        if fmt == "scalesim-conv":
            layers.extend(_scalesim_conv_layers(row, scalesim_compat=scalesim_compat))
        elif fmt == "scalesim-gemm":
            layers.append(_scalesim_gemm_layer(row))
        else:
            layers.append(_vscale_layer(row))
    if not layers:
        raise ConfigError(f"{label}: no layers after the header")
    return Topology(name=name, layers=tuple(layers), source=source, format=fmt)


def read_topology_file(path: str | Path, *, scalesim_compat: bool = False) -> Topology:
    """Read a topology CSV file in any of the three formats.

    Raises
    ------
    ConfigError
        If the file cannot be read or is malformed (one line naming file, line, column).
    """
    path = Path(path)
    text = read_text_file(path, "topology", expected="topology CSV")
    return parse_topology(text, label=path.name, name=path.stem, source=str(path), scalesim_compat=scalesim_compat)


def read_text_file(path: Path, what: str, *, expected: str | None = None) -> str:
    """The UTF-8 text of a user's input file, or a one-line ConfigError naming the file.

    Parameters
    ----------
    path : Path
    what : str
        Kind of file for "no such <what> file".
    expected : str, optional
        Kind of file for "is a directory, expected a <expected> file" (default: `what`).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a {expected or what} file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name}: not a UTF-8 text file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    if "\x00" in text:
        raise ConfigError(f"{path.name}: not a text file (it holds NUL bytes)")
    return text


def load_topology(spec: str | Path, *, scalesim_compat: bool = False) -> Topology:
    """A topology from a file path or a built-in name.

    Parameters
    ----------
    spec : str or Path
        An existing file, or one of :data:`BUILTIN_TOPOLOGIES` (an existing file of that
        name takes precedence).
    scalesim_compat : bool
        Read SCALE-Sim convolution rows literally (see the module docstring).

    Raises
    ------
    ConfigError
        If `spec` is neither a file nor a built-in name, or the file is malformed.
    """
    path = Path(spec)
    if path.is_file():
        return read_topology_file(path, scalesim_compat=scalesim_compat)
    name = str(spec)
    if name in BUILTIN_TOPOLOGIES:
        resource = resources.files(__package__).joinpath("topologies", f"{name}.csv")
        text = resource.read_text(encoding="utf-8")
        return parse_topology(
            text,
            label=f"{name}.csv",
            name=name,
            source=f"builtin:{name}",
            scalesim_compat=scalesim_compat,
        )
    raise ConfigError(
        f"topology: {name!r} is neither a file nor a built-in topology; "
        f"allowed: a CSV file or one of {', '.join(BUILTIN_TOPOLOGIES)}"
    )


def format_topology(layers: tuple[Layer, ...] | list[Layer]) -> str:
    """The layers as text in the vscale CSV format (header included)."""
    lines = [",".join(VSCALE_COLUMNS)]
    for layer in layers:
        if "," in layer.name:
            raise ConfigError(f"name: layer names cannot contain ',', got {layer.name!r}")
        if isinstance(layer, ConvLayer):
            values = [str(getattr(layer, field)) for field in _CONV_FIELDS]
            lines.append(",".join([layer.name, "conv", *values, "", "", ""]))
        else:
            blanks = [""] * len(_CONV_FIELDS)
            lines.append(",".join([layer.name, "gemm", *blanks, str(layer.m), str(layer.n), str(layer.k)]))
    return "\n".join(lines) + "\n"
