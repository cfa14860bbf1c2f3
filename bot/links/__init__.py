"""Campaign links for field workers: deep links, QR codes and masked funnel figures."""
