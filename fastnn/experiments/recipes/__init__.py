"""Built-in recipes, one module per family; importing a module registers its recipes."""
import importlib

for _family in ("dense", "cnn", "hopfield", "rbm", "timing"):
    try:
        importlib.import_module(f"{__name__}.{_family}")
    except ModuleNotFoundError as err:  # a family not written yet
        if err.name != f"{__name__}.{_family}":
            raise
