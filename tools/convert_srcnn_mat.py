#!/usr/bin/env python
"""Convert an official SRCNN MATLAB model to a .keras file that keras-sr accepts.

    python tools/convert_srcnn_mat.py ../shared/weights/srcnn-matlab/9-5-5_ImageNet/x3.mat srcnn955_x3.keras

The weights are research-licensed (academic use only): keep converted files out of the
package and of saved_models/. See keras_sr.models.convert for the conventions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mat", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--scale", type=int, help="scale (default: from the file name, x3.mat -> 3)")
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)
    from keras_sr.errors import KerasSRError
    from keras_sr.models.convert import srcnn_from_mat
    from keras_sr.models.info import save_with_info

    try:
        if not args.mat.exists():
            raise KerasSRError(f"no such file: {args.mat}")
        if args.out.suffix != ".keras":
            raise KerasSRError(f"output must end in .keras: {args.out}")
        if args.out.exists() and not args.overwrite:
            raise KerasSRError(f"output exists (use --overwrite): {args.out}")
        if not args.out.parent.resolve().is_dir():
            raise KerasSRError(f"output folder does not exist: {args.out.parent}")
        model = srcnn_from_mat(args.mat, args.scale)
        save_with_info(model, args.out, model.sr_info)
    except KerasSRError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({model.sr_info.architecture}, x{model.sr_info.scale}, "
          f"{model.count_params()} params)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
