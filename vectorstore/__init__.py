"""Files to clean paragraph chunks, stored in Chroma and a Chinese keyword index."""
