"""Where the course's parts live, and which minidl modules each assignment adds."""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
ASSIGNMENTS = REPO / "assignments"
REFERENCE_MINIDL = SOLUTIONS / "minidl"

# In course order. A release of an assignment ships its own modules as stubs and
# the modules of every earlier assignment complete, so nobody is blocked by an
# earlier assignment they did not finish.
ASSIGNMENT_MODULES = {
    "a1_linear": ("linear.py",),
    "a2_backprop": ("layers.py",),
    "a3_autodiff": ("autograd.py", "forward.py"),
    "a4_init_norm": ("init.py", "nn.py"),
    "a5_optim": ("optim.py", "data.py"),
}
SHARED_MODULES = ("__init__.py", "_validate.py")


def check_assignment_id(assignment_id):
    if assignment_id not in ASSIGNMENT_MODULES:
        known = ", ".join(ASSIGNMENT_MODULES)
        raise ValueError(f"unknown assignment {assignment_id!r}; known assignments: {known}")
    return assignment_id


def minidl_modules(assignment_id):
    """(earlier complete modules, this assignment's modules) for a release."""
    check_assignment_id(assignment_id)
    earlier = []
    for other, modules in ASSIGNMENT_MODULES.items():
        if other == assignment_id:
            return tuple(earlier), modules
        earlier.extend(modules)
    raise AssertionError("unreachable")
