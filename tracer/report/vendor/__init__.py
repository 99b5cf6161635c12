"""Vendored JavaScript (see tools/vendor_js.py); package data, not code."""
