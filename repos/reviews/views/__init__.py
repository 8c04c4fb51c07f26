"""HTML pages of the reviews wing (parse, authorize, call, render)."""
