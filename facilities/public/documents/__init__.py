"""Printed documents citizens read: the closure notice posted on site (:mod:`.notice`), with its
map drawn from our own geometry (:mod:`.map_svg`) and QR codes to the live notice."""
