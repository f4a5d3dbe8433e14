"""The offline browser page of `chi-lite ui` / `serve --http`: static files plus the ops the page needs.

Everything the page loads ships in this folder (no CDN, no fonts, no plotting library);
the page talks to the server through the same JSON endpoints as any other client.
"""
