"""Question in, ranked passages and a support verdict out."""
