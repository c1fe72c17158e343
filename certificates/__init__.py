"""Documents: Jinja templates rendered by WeasyPrint (rendering), capital amounts
(capitals), verification codes and QR (codes, qr), content-addressed storage (storage),
the document table and its service, the render jobs of batches (batch_jobs) and of
single documents (single_jobs), and the public verification routes (routes)."""
