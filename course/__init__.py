"""The course's shared helpers for lecture and assignment notebooks.

``course.datasets`` loads the data sets (digits, 2-D toy sets) and ``course.plotting`` draws
decision boundaries, weight templates and training curves. Import the submodule you need;
this package imports nothing itself, so ``import course`` stays cheap (no matplotlib).
"""
