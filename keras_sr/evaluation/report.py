"""Text tables of evaluation results."""

from __future__ import annotations


def format_table(result) -> str:
    """Per-image and mean PSNR (dB) / SSIM of bicubic and model as an aligned text table."""
    has_model = bool(result.rows) and "model_psnr" in result.rows[0]
    cols = ["bicubic_psnr", "bicubic_ssim"] + (["model_psnr", "model_ssim", "delta_psnr"] if has_model else [])
    heads = {"bicubic_psnr": "bicubic PSNR", "bicubic_ssim": "SSIM", "model_psnr": "model PSNR",
             "model_ssim": "SSIM", "delta_psnr": "gain dB"}
    width = max([len("mean")] + [len(r["name"]) for r in result.rows])
    lines = [f"{result.model}  x{result.scale}  protocol={result.protocol}",
             f"{'image':<{width}}  " + "  ".join(f"{heads[c]:>12}" for c in cols)]
    fmt = {c: ("{:>12.4f}" if "ssim" in c else "{:>12.2f}") for c in cols}
    for r in result.rows:
        lines.append(f"{r['name']:<{width}}  " + "  ".join(fmt[c].format(r[c]) for c in cols))
    means = result.means()
    lines.append(f"{'mean':<{width}}  " + "  ".join(fmt[c].format(means[c]) for c in cols))
    return "\n".join(lines)
