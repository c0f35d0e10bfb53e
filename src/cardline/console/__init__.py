"""The agent console's static files (index.html, console.js, console.css), served by the
backoffice through :mod:`cardline.http.console_routes`."""
