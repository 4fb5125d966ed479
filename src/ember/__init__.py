"""ember: a hackable autograd and deep-learning library on NumPy, with PyTorch's API."""

from . import _dtypes
from ._bind import bind as _bind
from ._creation import *  # noqa: F403
from ._creation import __all__ as _creation_all
from ._device import device
from ._dtypes import (
    bool_ as bool,  # noqa: A001
)
from ._dtypes import (
    double,
    dtype,
    float,  # noqa: A004
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,  # noqa: A004
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    uint8,
)
from ._tensor import Size, Tensor
from .autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .ops.comparison import *  # noqa: F403
from .ops.elementwise import *  # noqa: F403
from .ops.indexing import *  # noqa: F403
from .ops.linalg import *  # noqa: F403
from .ops.reduction import *  # noqa: F403
from .ops.shape import *  # noqa: F403
from .ops.sorting import *  # noqa: F403
from .serialization import load, save

_bind()

from . import (  # noqa: E402
    autograd,  # noqa: E402
    cuda,
    distributed,
    linalg,
    nn,
    optim,
    utils,
)

__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(x: Tensor) -> int:
    return x.numel()
