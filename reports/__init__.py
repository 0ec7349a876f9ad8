"""Printed things for the ward: QR posters for notice boards and the monthly report to
the ward People's Committee. Figures come from storage; this package only lays out."""
