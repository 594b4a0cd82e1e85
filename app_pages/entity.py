from screener.ui.entity_page import render

render()
