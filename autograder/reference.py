"""PyTorch as the reference: float64, TF32 off, on CUDA when present, else on the CPU."""
import numpy as np
import torch


def select_device(preference="auto"):
    """``"auto"`` picks CUDA when available; asking for ``"cuda"`` without it raises ValueError."""
    if preference not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {preference!r}")
    if preference == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but PyTorch sees no CUDA device")
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(preference)


class Reference:
    """Converts between numpy and float64 torch tensors on the chosen device."""

    def __init__(self, preference="auto"):
        # TF32 would silently round float32 matmuls on Ampere and later GPUs; the
        # references are float64, but keep every path exact.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        self.device = select_device(preference)

    @property
    def device_name(self):
        if self.device.type == "cuda":
            return f"cuda ({torch.cuda.get_device_name(self.device)})"
        return "cpu"

    def tensor(self, array, requires_grad=False):
        """A float64 tensor on the reference device."""
        return torch.tensor(
            np.asarray(array, dtype=np.float64), device=self.device, requires_grad=requires_grad
        )

    def labels(self, y):
        return torch.tensor(np.asarray(y, dtype=np.int64), device=self.device)

    @staticmethod
    def numpy(tensor):
        return tensor.detach().cpu().numpy()
