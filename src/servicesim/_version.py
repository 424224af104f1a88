"""The package version, readable from every layer without importing the package."""

VERSION = "0.1.0"
