"""Read side of the HF API: repo info and lists, tree, paths-info, refs, commits, auth-check."""
