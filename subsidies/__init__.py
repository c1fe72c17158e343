"""The subsidy engine: policy catalogue, calculators, claims, vouchers, internships,
batches. Empty until the subsidy-engine issue; the package exists so the layout,
packaging and Docker image already carry it."""
