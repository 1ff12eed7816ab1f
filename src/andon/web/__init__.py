"""Server-rendered pages for the plant floor: plain HTML, CSRF-protected forms."""
