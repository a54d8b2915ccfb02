"""The Gradio web front end."""
