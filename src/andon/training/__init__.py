"""Training: the matrix of who has read what, due and overdue tasks, XLSX export, adoption."""
