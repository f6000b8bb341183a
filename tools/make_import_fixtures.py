"""Make the PyTorch parity fixtures of ``keras_sr.importers`` (tests/fixtures/import/).

Needs ``torch`` (and ``safetensors``); the tests that use the fixtures do not. Tiny random-weight
networks, built with PyTorch modules that follow the originals line by line:

- ``RRDBNet`` (BasicSR ``basicsr/archs/rrdbnet_arch.py`` with ``pixel_unshuffle`` from
  ``basicsr/archs/arch_util.py``): Real-ESRGAN x4plus/x2plus's network;
- ``RRDBNetESRGAN`` (xinntao/ESRGAN ``RRDBNet_arch.py``, the rewritten repository's keys);
- ``RRDBNetOld`` (the original ESRGAN release: ``nn.Sequential`` ``model.N`` with a
  ``ShortcutBlock`` and flattened conv blocks, as BasicSR's old ``architecture.py``/``block.py``);
- ``SRVGGNetCompact`` (Real-ESRGAN ``realesrgan/archs/srvgg_arch.py``, PReLU).

Each checkpoint is saved as its original project saves it, and the network's output on one
random input (``input.npy``, ``[1, 3, 8, 12]`` NCHW in [0, 1]) is saved as ``<name>.out.npy``
(NCHW float32). fp16 checkpoints: the reference runs the fp16-rounded weights in float32.

    python tools/make_import_fixtures.py            # writes tests/fixtures/import/
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "import"


# ---- BasicSR (basicsr/archs/arch_util.py, rrdbnet_arch.py) --------------------------------------
def pixel_unshuffle(x, scale):
    b, c, hh, hw = x.size()
    out_channel = c * (scale**2)
    assert hh % scale == 0 and hw % scale == 0
    h = hh // scale
    w = hw // scale
    x_view = x.view(b, c, h, scale, w, scale)
    return x_view.permute(0, 1, 3, 5, 2, 4).reshape(b, out_channel, h, w)


def make_layer(basic_block, num_basic_block, **kwarg):
    return nn.Sequential(*[basic_block(**kwarg) for _ in range(num_basic_block)])


class ResidualDenseBlock(nn.Module):
    def __init__(self, num_feat=64, num_grow_ch=32):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x):
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, num_feat, num_grow_ch=32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x):
        out = self.rdb1(x)
        out = self.rdb2(out)
        out = self.rdb3(out)
        return out * 0.2 + x


class RRDBNet(nn.Module):
    def __init__(self, num_in_ch, num_out_ch, scale=4, num_feat=64, num_block=23, num_grow_ch=32):
        super().__init__()
        self.scale = scale
        if scale == 2:
            num_in_ch = num_in_ch * 4
        elif scale == 1:
            num_in_ch = num_in_ch * 16
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = make_layer(RRDB, num_block, num_feat=num_feat, num_grow_ch=num_grow_ch)
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x):
        if self.scale == 2:
            feat = pixel_unshuffle(x, scale=2)
        elif self.scale == 1:
            feat = pixel_unshuffle(x, scale=4)
        else:
            feat = x
        feat = self.conv_first(feat)
        body_feat = self.conv_body(self.body(feat))
        feat = feat + body_feat
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode='nearest')))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode='nearest')))
        out = self.conv_last(self.lrelu(self.conv_hr(feat)))
        return out


# ---- xinntao/ESRGAN RRDBNet_arch.py (the rewritten repository) --------------------------------
class ResidualDenseBlock_5C(nn.Module):
    def __init__(self, nf=64, gc=32, bias=True):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1, bias=bias)
        self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1, bias=bias)
        self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1, bias=bias)
        self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1, bias=bias)
        self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1, bias=bias)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x):
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB_ESRGAN(nn.Module):
    def __init__(self, nf, gc=32):
        super().__init__()
        self.RDB1 = ResidualDenseBlock_5C(nf, gc)
        self.RDB2 = ResidualDenseBlock_5C(nf, gc)
        self.RDB3 = ResidualDenseBlock_5C(nf, gc)

    def forward(self, x):
        out = self.RDB1(x)
        out = self.RDB2(out)
        out = self.RDB3(out)
        return out * 0.2 + x


class RRDBNetESRGAN(nn.Module):
    def __init__(self, in_nc, out_nc, nf, nb, gc=32):
        super().__init__()
        self.conv_first = nn.Conv2d(in_nc, nf, 3, 1, 1, bias=True)
        self.RRDB_trunk = nn.Sequential(*[RRDB_ESRGAN(nf, gc) for _ in range(nb)])
        self.trunk_conv = nn.Conv2d(nf, nf, 3, 1, 1, bias=True)
        self.upconv1 = nn.Conv2d(nf, nf, 3, 1, 1, bias=True)
        self.upconv2 = nn.Conv2d(nf, nf, 3, 1, 1, bias=True)
        self.HRconv = nn.Conv2d(nf, nf, 3, 1, 1, bias=True)
        self.conv_last = nn.Conv2d(nf, out_nc, 3, 1, 1, bias=True)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x):
        fea = self.conv_first(x)
        trunk = self.trunk_conv(self.RRDB_trunk(fea))
        fea = fea + trunk
        fea = self.lrelu(self.upconv1(F.interpolate(fea, scale_factor=2, mode='nearest')))
        fea = self.lrelu(self.upconv2(F.interpolate(fea, scale_factor=2, mode='nearest')))
        out = self.conv_last(self.lrelu(self.HRconv(fea)))
        return out


# ---- original ESRGAN release (BasicSR's old architecture.py / block.py, CNA mode) --------------
class ShortcutBlock(nn.Module):
    def __init__(self, submodule):
        super().__init__()
        self.sub = submodule

    def forward(self, x):
        return x + self.sub(x)


def _conv_block(in_nc, out_nc, act=True):  # sequential(pad None, conv, norm None, act)
    layers = [nn.Conv2d(in_nc, out_nc, 3, 1, 1, bias=True)]
    if act:
        layers.append(nn.LeakyReLU(0.2, True))
    return nn.Sequential(*layers)


class ResidualDenseBlock5COld(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.conv1 = _conv_block(nf, gc)
        self.conv2 = _conv_block(nf + gc, gc)
        self.conv3 = _conv_block(nf + 2 * gc, gc)
        self.conv4 = _conv_block(nf + 3 * gc, gc)
        self.conv5 = _conv_block(nf + 4 * gc, nf, act=False)  # last_act None in CNA mode

    def forward(self, x):
        x1 = self.conv1(x)
        x2 = self.conv2(torch.cat((x, x1), 1))
        x3 = self.conv3(torch.cat((x, x1, x2), 1))
        x4 = self.conv4(torch.cat((x, x1, x2, x3), 1))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5.mul(0.2) + x


class RRDBOld(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.RDB1 = ResidualDenseBlock5COld(nf, gc)
        self.RDB2 = ResidualDenseBlock5COld(nf, gc)
        self.RDB3 = ResidualDenseBlock5COld(nf, gc)

    def forward(self, x):
        out = self.RDB1(x)
        out = self.RDB2(out)
        out = self.RDB3(out)
        return out.mul(0.2) + x


class RRDBNetOld(nn.Module):
    """``B.sequential`` flattens nested Sequentials: model.0 fea conv, model.1 shortcut(RRDBs +
    LR conv), then per x2 (Upsample, conv, LeakyReLU), HR conv + LeakyReLU, last conv."""

    def __init__(self, in_nc, out_nc, nf, nb, gc=32, upscale=4):
        super().__init__()
        ups = []
        for _ in range(int(np.log2(upscale))):
            ups += [nn.Upsample(scale_factor=2, mode='nearest'), nn.Conv2d(nf, nf, 3, 1, 1), nn.LeakyReLU(0.2, True)]
        self.model = nn.Sequential(
            nn.Conv2d(in_nc, nf, 3, 1, 1),
            ShortcutBlock(nn.Sequential(*[RRDBOld(nf, gc) for _ in range(nb)], nn.Conv2d(nf, nf, 3, 1, 1))),
            *ups,
            nn.Conv2d(nf, nf, 3, 1, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(nf, out_nc, 3, 1, 1))

    def forward(self, x):
        return self.model(x)


# ---- Real-ESRGAN realesrgan/archs/srvgg_arch.py --------------------------------------------------
class SRVGGNetCompact(nn.Module):
    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4, act_type='prelu'):
        super().__init__()
        self.upscale = upscale
        self.body = nn.ModuleList()
        self.body.append(nn.Conv2d(num_in_ch, num_feat, 3, 1, 1))
        self.body.append(nn.PReLU(num_parameters=num_feat))
        for _ in range(num_conv):
            self.body.append(nn.Conv2d(num_feat, num_feat, 3, 1, 1))
            self.body.append(nn.PReLU(num_parameters=num_feat))
        self.body.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x):
        out = x
        for i in range(0, len(self.body)):
            out = self.body[i](out)
        out = self.upsampler(out)
        base = F.interpolate(x, scale_factor=self.upscale, mode='nearest')
        out += base
        return out


# ---- fixtures ------------------------------------------------------------------------------------
def _randomize(net, seed):
    """Random weights large enough that every path matters (PReLU slopes in [-0.5, 0.5])."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.ndim == 1 and "body" in name and isinstance(net, SRVGGNetCompact) and name.endswith("weight"):
                p.copy_(torch.rand(p.shape, generator=g) - 0.5)
            else:
                fan_in = p[0].numel() if p.ndim > 1 else 16
                p.copy_(torch.randn(p.shape, generator=g) / np.sqrt(fan_in))
    return net.eval()


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    x = torch.rand(1, 3, 8, 12, generator=torch.Generator().manual_seed(1))
    np.save(OUT / "input.npy", x.numpy())
    nets = {  # name: (net, how it is saved, half precision)
        "rrdb_x4_basicsr": (RRDBNet(3, 3, 4, 8, 2, 4), "pth-params_ema", True),
        "rrdb_x2_basicsr": (RRDBNet(3, 3, 2, 6, 1, 4), "pth", True),
        "rrdb_x1_basicsr": (RRDBNet(3, 3, 1, 4, 1, 4), "pth", True),
        "rrdb_x4_esrgan_old": (RRDBNetOld(3, 3, 6, 1, 4), "pth-legacy", False),
        "rrdb_x4_esrgan_new": (RRDBNetESRGAN(3, 3, 6, 1, 4), "safetensors", True),
        "srvgg_x4": (SRVGGNetCompact(3, 3, 8, 3, 4), "pth", False),
        "srvgg_x4_b": (SRVGGNetCompact(3, 3, 8, 3, 4), "pth", False),
        "srvgg_x2": (SRVGGNetCompact(3, 3, 8, 3, 2), "pth", False),
        "srvgg_x3": (SRVGGNetCompact(3, 3, 8, 3, 3), "pth", False),
    }
    manifest = {}
    for seed, (name, (net, how, half)) in enumerate(nets.items(), start=10):
        _randomize(net, seed)
        if half:
            net.half().float()  # the reference runs the stored (fp16-rounded) weights
        with torch.no_grad():
            out = net(x)
        if name != "srvgg_x4_b":  # only blended
            np.save(OUT / f"{name}.out.npy", out.numpy())
        sd = {k: (v.half() if half else v) for k, v in net.state_dict().items()}
        if how == "safetensors":
            from safetensors.torch import save_file

            path = OUT / f"{name}.safetensors"
            save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
        elif how == "pth-params_ema":  # a BasicSR training checkpoint: params_ema preferred
            path = OUT / f"{name}.pth"
            torch.save({"params": {"not_the_ema_weights": torch.zeros(1)}, "params_ema": sd}, path)
        elif how == "pth-legacy":  # torch < 1.6 format, as the original ESRGAN release
            path = OUT / f"{name}.pth"
            torch.save(net.state_dict(), path, _use_new_zipfile_serialization=False)
        else:
            path = OUT / f"{name}.pth"
            torch.save(sd, path)
        manifest[name] = {"file": path.name, "format": how, "fp16": half, "output_shape": list(out.shape)}
    # Real-ESRGAN's DNI (inference_realesrgan.py dni()): net_a * 0.3 + net_b * 0.7, key by key
    a, b = (SRVGGNetCompact(3, 3, 8, 3, 4) for _ in range(2))
    a.load_state_dict(torch.load(OUT / "srvgg_x4.pth"))
    b.load_state_dict(torch.load(OUT / "srvgg_x4_b.pth"))
    mixed = SRVGGNetCompact(3, 3, 8, 3, 4).eval()
    sa, sb = a.state_dict(), b.state_dict()
    mixed.load_state_dict({k: 0.3 * sa[k] + 0.7 * sb[k] for k in sa})
    with torch.no_grad():
        np.save(OUT / "srvgg_x4_blend_0.3_0.7.out.npy", mixed(x).numpy())
    manifest["blend"] = {"files": ["srvgg_x4.pth", "srvgg_x4_b.pth"], "weights": [0.3, 0.7]}
    manifest["torch"] = torch.__version__
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT}")


if __name__ == "__main__":
    main()
