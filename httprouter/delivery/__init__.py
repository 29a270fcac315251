"""httprouter.delivery"""
