"""Rule presets: named, sourced libraries of caps (data files in ``data/``)."""
