"""Supply-chain forced-labour risk screener."""

__version__ = "0.1.0"
