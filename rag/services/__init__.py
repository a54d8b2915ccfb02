"""The service facade that both front ends call."""
