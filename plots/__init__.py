"""Figures of stored analyses, written as PNG + SVG side by side.

    from neuromfa.plots import plot_spectra, plot_emergence, plot_nfd

Importing this package imports matplotlib; the CLI imports it only inside the plot commands.
"""

from neuromfa.plots.emergence import plot_emergence
from neuromfa.plots.nfd import plot_nfd
from neuromfa.plots.spectrum import plot_spectra

__all__ = ["plot_emergence", "plot_nfd", "plot_spectra"]
