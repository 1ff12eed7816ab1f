"""The plant hierarchy (ISA-95): enterprise → site → area → line / work centre."""
