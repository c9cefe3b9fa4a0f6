"""The HQ console: server-rendered pages for HQ's people in the service's own app
(console.app.mount), in Chinese and English. How to add a page: console/pages.py."""
