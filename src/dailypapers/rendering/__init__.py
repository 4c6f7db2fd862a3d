"""Pure rendering of untrusted text (LaTeX math to MathML) shared by the services and the web layer."""
