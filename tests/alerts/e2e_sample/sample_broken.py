"""Sample module that cannot even be imported, so pytest reports a collection error (see sample_checkout.py)."""

raise RuntimeError("checkout settings missing")
