"""httprouter.web.api"""
