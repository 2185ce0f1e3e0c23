import mymodule

mymodule.action()
