"""httprouter.store"""
