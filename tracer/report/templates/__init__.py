"""CSS and JavaScript of the HTML case file; package data, not code."""
