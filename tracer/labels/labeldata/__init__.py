"""Generated label data (tools/build_labels.py); see ATTRIBUTION.md."""
