"""Where papers come from: arXiv files and (later) arXiv's own services. Pure parsing lives here."""
