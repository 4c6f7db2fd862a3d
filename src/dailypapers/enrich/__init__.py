"""What papers get beyond arXiv's metadata, as pure functions: a thumbnail of the PDF's first
page, key phrases and an extracted TL;DR, the map's 2D layout and its labelled clusters. No
database, no network: services feed them and store what they return."""
