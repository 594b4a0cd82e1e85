from screener.ui.screen_page import render

render()
